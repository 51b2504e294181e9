/*  =========================================================================
    termseq.h - how a worker stops a command: signals with waits between

    A --termseq is GNU parallel's: "TERM,200,KILL" sends SIGTERM, waits
    200 ms for the command to exit, then sends SIGKILL. Signals are names
    (TERM, SIGTERM) or numbers; each is followed by the milliseconds to
    wait before the next. Parsing and stepping are pure (no clock, no
    process): the caller passes the time and sends the signals itself.
    =========================================================================
*/

#ifndef SLUICE_TERMSEQ_H_INCLUDED
#define SLUICE_TERMSEQ_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLUICE_TERMSEQ_MAX 16           //  signals in one sequence at most
#define SLUICE_TERMSEQ_DEFAULT "TERM,200,KILL"

//  A parsed sequence
typedef struct {
    int signals [SLUICE_TERMSEQ_MAX];   //  in the order they are sent
    int64_t waits [SLUICE_TERMSEQ_MAX]; //  ms after each before the next
    size_t count;                       //  signals, at least 1
} sluice_termseq_t;

//  One command being stopped: the next step and when it is due
typedef struct {
    size_t next;                //  index of the next signal to send
    int64_t due_ms;             //  when to send it (0: at once)
} sluice_termstop_t;

//  Parse "SIG,MS,SIG,..." (a trailing MS is allowed and ignored). Returns
//  0, or -1 if a signal is unknown, a wait is not a number, or nothing
//  is given.
int
    sluice_termseq_parse (const char *text, sluice_termseq_t *seq);

//  The signal to send now to a command being stopped (0 if none is due:
//  waiting, or every signal sent). Advances stop.
int
    sluice_termseq_step (const sluice_termseq_t *seq, sluice_termstop_t *stop, int64_t now_ms);

//  Milliseconds until the next step is due (0: now), or -1 once every
//  signal has been sent.
int64_t
    sluice_termseq_wait (const sluice_termseq_t *seq, const sluice_termstop_t *stop,
                         int64_t now_ms);

#endif
