/*  =========================================================================
    halt.c - --halt: parsing, the stop condition, the exit code

    The rules are GNU parallel's (parallel(1), --halt and EXIT STATUS), as
    measured against parallel 20221122: a percentage is of the batch's
    tasks, not of those finished (fail=30% of 10 tasks needs 3 failures),
    and with fail=N% the exit code is the percentage that failed, whether
    or not the batch halted.
    =========================================================================
*/

#include "private.h"
#include "halt.h"

//  Parse "N" or "N%" (1..100 for a percentage, at least 1 for a count).
static int
s_parse_amount (const char *text, sluice_halt_t *halt)
{
    size_t digits = strspn (text, "0123456789");
    if (digits == 0 || digits > 18)
        return -1;
    halt->percent = text [digits] == '%';
    if (text [digits + halt->percent] != 0)
        return -1;
    halt->count = strtoull (text, NULL, 10);
    if (halt->count == 0 || (halt->percent && halt->count > 100))
        return -1;
    return 0;
}

//  parallel's older spellings: 0, 1, 2, -1, -2, and 1-99%.
static int
s_parse_legacy (const char *text, sluice_halt_t *halt)
{
    static const struct { const char *text; sluice_halt_t halt; } s_old [] = {
        { "0", { SLUICE_HALT_NEVER, SLUICE_HALT_FAIL, 0, false } },
        { "1", { SLUICE_HALT_SOON, SLUICE_HALT_FAIL, 1, false } },
        { "2", { SLUICE_HALT_NOW, SLUICE_HALT_FAIL, 1, false } },
        { "-1", { SLUICE_HALT_SOON, SLUICE_HALT_SUCCESS, 1, false } },
        { "-2", { SLUICE_HALT_NOW, SLUICE_HALT_SUCCESS, 1, false } },
    };
    for (size_t i = 0; i < sizeof s_old / sizeof s_old [0]; i++)
        if (streq (text, s_old [i].text)) {
            *halt = s_old [i].halt;
            return 0;
        }
    halt->when = SLUICE_HALT_SOON;
    halt->why = SLUICE_HALT_FAIL;
    return strchr (text, '%') && s_parse_amount (text, halt) == 0 && halt->count < 100? 0: -1;
}

int
sluice_halt_parse (const char *text, sluice_halt_t *halt)
{
    *halt = (sluice_halt_t) { SLUICE_HALT_NEVER, SLUICE_HALT_FAIL, 0, false };
    if (streq (text, "never"))
        return 0;
    const char *comma = strchr (text, ',');
    if (!comma)
        return s_parse_legacy (text, halt);
    size_t when = (size_t) (comma - text);
    if (when == 3 && strncmp (text, "now", 3) == 0)
        halt->when = SLUICE_HALT_NOW;
    else
    if (when == 4 && strncmp (text, "soon", 4) == 0)
        halt->when = SLUICE_HALT_SOON;
    else
        return -1;
    const char *why = comma + 1;
    const char *amount = strchr (why, '=');
    if (!amount)
        return -1;
    size_t len = (size_t) (amount - why);
    if (len == 4 && strncmp (why, "fail", 4) == 0)
        halt->why = SLUICE_HALT_FAIL;
    else
    if (len == 7 && strncmp (why, "success", 7) == 0)
        halt->why = SLUICE_HALT_SUCCESS;
    else
    if (len == 4 && strncmp (why, "done", 4) == 0)
        halt->why = SLUICE_HALT_DONE;
    else
        return -1;
    return s_parse_amount (amount + 1, halt);
}

//  The tasks the halt counts.
static uint64_t
s_counted (const sluice_halt_t *halt, uint64_t done, uint64_t failed)
{
    return halt->why == SLUICE_HALT_FAIL? failed
         : halt->why == SLUICE_HALT_SUCCESS? done - failed: done;
}

bool
sluice_halt_reached (const sluice_halt_t *halt, uint64_t done, uint64_t failed,
                     uint64_t total)
{
    if (halt->when == SLUICE_HALT_NEVER)
        return false;
    uint64_t counted = s_counted (halt, done, failed);
    if (!halt->percent)
        return counted >= halt->count;
    return total > 0 && counted * 100 >= halt->count * total;
}

int
sluice_halt_exit (const sluice_halt_t *halt, uint64_t done, uint64_t failed,
                  uint64_t total, int last_code)
{
    bool active = halt && halt->when != SLUICE_HALT_NEVER;
    if (active && halt->why == SLUICE_HALT_FAIL && halt->percent)
        return total? (int) (failed * 100 / total): 0;
    if (active && halt->why == SLUICE_HALT_FAIL && halt->count == 1 && failed)
        return last_code > 0 && last_code < 256? last_code: 1;
    if (active && halt->why == SLUICE_HALT_SUCCESS
    &&  sluice_halt_reached (halt, done, failed, total))
        return 0;
    return failed > 100? 101: (int) failed;
}

void
sluice_halt_text (const sluice_halt_t *halt, char *buf, size_t size)
{
    if (halt->when == SLUICE_HALT_NEVER) {
        snprintf (buf, size, "never");
        return;
    }
    snprintf (buf, size, "%s,%s=%" PRIu64 "%s", halt->when == SLUICE_HALT_NOW? "now": "soon",
              halt->why == SLUICE_HALT_FAIL? "fail"
              : halt->why == SLUICE_HALT_SUCCESS? "success": "done",
              halt->count, halt->percent? "%": "");
}
