/*  =========================================================================
    termseq.c - parse and step a --termseq (see termseq.h)
    =========================================================================
*/

#include "private.h"
#include "termseq.h"

#include <ctype.h>
#include <signal.h>

//  Signals by name, without the SIG prefix
static const struct {
    const char *name;
    int signal;
} s_names [] = {
    { "TERM", SIGTERM }, { "KILL", SIGKILL }, { "INT", SIGINT }, { "HUP", SIGHUP },
    { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "ALRM", SIGALRM },
    { "CONT", SIGCONT }, { "STOP", SIGSTOP }
};

//  A signal from its name (TERM, SIGTERM) or number; -1 if unknown.
static int
s_signal (const char *text, size_t len)
{
    if (len > 3 && strncmp (text, "SIG", 3) == 0) {
        text += 3;
        len -= 3;
    }
    for (size_t i = 0; i < sizeof s_names / sizeof s_names [0]; i++)
        if (strlen (s_names [i].name) == len && strncmp (s_names [i].name, text, len) == 0)
            return s_names [i].signal;
    int value = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char) text [i]) || value > 64)
            return -1;
        value = value * 10 + (text [i] - '0');
    }
    return len && value > 0 && value < 65? value: -1;
}

int
sluice_termseq_parse (const char *text, sluice_termseq_t *seq)
{
    memset (seq, 0, sizeof *seq);
    bool want_signal = true;
    const char *p = text;
    while (p && *p) {
        size_t len = strcspn (p, ",");
        if (want_signal) {
            int signal = s_signal (p, len);
            if (signal < 0 || seq->count == SLUICE_TERMSEQ_MAX)
                return -1;
            seq->signals [seq->count++] = signal;
        }
        else {
            int64_t ms = 0;
            for (size_t i = 0; i < len; i++) {
                if (!isdigit ((unsigned char) p [i]) || ms > 3600000)
                    return -1;
                ms = ms * 10 + (p [i] - '0');
            }
            if (!len)
                return -1;
            seq->waits [seq->count - 1] = ms;
        }
        want_signal = !want_signal;
        p += len;
        if (*p == ',' && !p [1])
            return -1;          //  a trailing comma
        if (*p == ',')
            p++;
    }
    return seq->count? 0: -1;
}

int
sluice_termseq_step (const sluice_termseq_t *seq, sluice_termstop_t *stop, int64_t now_ms)
{
    if (stop->next >= seq->count || now_ms < stop->due_ms)
        return 0;
    int signal = seq->signals [stop->next];
    stop->due_ms = now_ms + seq->waits [stop->next];
    stop->next++;
    return signal;
}

int64_t
sluice_termseq_wait (const sluice_termseq_t *seq, const sluice_termstop_t *stop,
                     int64_t now_ms)
{
    if (stop->next >= seq->count)
        return -1;
    return stop->due_ms > now_ms? stop->due_ms - now_ms: 0;
}
