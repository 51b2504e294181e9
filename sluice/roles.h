/*  =========================================================================
    roles.h - the three programs' main functions, linked into sluice

    `sluice ventilator|worker|sink ARGS` must behave exactly as the three
    binaries do, so sluice links their own main.c, compiled a second time
    with -Dmain=sluice_main_X and this header forced in (-include) for the
    prototypes. The three programs' sources are not changed.
    =========================================================================
*/

#ifndef SLUICE_ROLES_H_INCLUDED
#define SLUICE_ROLES_H_INCLUDED

//  ventilator/main.c's main: argv [0] is the role's name.
int
    sluice_main_ventilator (int argc, char *argv []);

//  worker/main.c's main.
int
    sluice_main_worker (int argc, char *argv []);

//  sink/main.c's main.
int
    sluice_main_sink (int argc, char *argv []);

#endif
