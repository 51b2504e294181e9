/*  =========================================================================
    halt.h - --halt: when a batch stops early, as GNU parallel's --halt

    A halt is WHEN,WHY=N or WHEN,WHY=N%: WHEN is "now" (kill the running
    tasks) or "soon" (start no more, let the running ones finish); WHY is
    fail, success or done, counted in tasks or as a percentage of the
    batch's tasks (of those read so far, until the input's end is known).
    "never" (the default) and parallel's old numbers (0, 1, 2, -1, -2, and
    1-99% for soon,fail=N%) are accepted too. Socket-free: the ventilator
    asks sluice_halt_reached after each acknowledgement, and sluice
    computes its exit code with sluice_halt_exit.
    =========================================================================
*/

#ifndef SLUICE_HALT_H_INCLUDED
#define SLUICE_HALT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  When to stop once the condition holds
typedef enum {
    SLUICE_HALT_NEVER,          //  run every task (the default)
    SLUICE_HALT_SOON,           //  start no more tasks; the running ones finish
    SLUICE_HALT_NOW             //  stop the running tasks too (DROP)
} sluice_halt_when_t;

//  What is counted
typedef enum {
    SLUICE_HALT_FAIL,           //  tasks that failed (or were lost)
    SLUICE_HALT_SUCCESS,        //  tasks that succeeded
    SLUICE_HALT_DONE            //  tasks finished either way
} sluice_halt_why_t;

typedef struct {
    sluice_halt_when_t when;
    sluice_halt_why_t why;
    uint64_t count;             //  tasks, or percent when percent is set
    bool percent;               //  count is a percentage (1-100)
} sluice_halt_t;

//  Parse a --halt value. Returns 0 with *halt set, or -1 if it is not one.
int
    sluice_halt_parse (const char *text, sluice_halt_t *halt);

//  True if the halt's condition holds for a batch of total tasks (read so
//  far) of which done finished, failed of them failed.
bool
    sluice_halt_reached (const sluice_halt_t *halt, uint64_t done, uint64_t failed,
                         uint64_t total);

//  The exit code GNU parallel gives for this outcome: with fail=N% the
//  percentage of the tasks that failed; with fail=1 once a task failed,
//  that task's exit code (last_code); with success=... reached, 0; else
//  the number of failed tasks, 101 above 100.
int
    sluice_halt_exit (const sluice_halt_t *halt, uint64_t done, uint64_t failed,
                      uint64_t total, int last_code);

//  Write the halt as text ("soon,fail=3%") into buf of size bytes.
void
    sluice_halt_text (const sluice_halt_t *halt, char *buf, size_t size);

#endif
