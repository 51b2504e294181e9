/*  =========================================================================
    security.h - who may connect: CURVE keys per role, or loopback only

    A role's sockets are made secure here, per endpoint, as they attach
    (socket.c calls sluice_security_prepare before each bind and connect):

    - With --keys DIR, every tcp and ipc connection uses CURVE. A bound
      socket is a CURVE server that accepts only the keys of the role at
      the channel's other end (the control socket: the ventilator's key;
      tasks and results: worker keys); a connecting socket is a CURVE
      client that completes its handshake only with the server whose
      public key DIR holds for the other end.
    - Without keys, a bound tcp socket accepts only loopback peers (and ipc
      peers, always), plus --allow ADDR[/BITS],...; --insecure accepts any.

    Each decision is made by one ZAP handler per process (an actor bound to
    inproc://zeromq.zap.01, shared by every role in the process): it finds
    the socket's policy by the ZAP domain the socket was given, answers,
    logs a refusal (once per address, then rate-limited) and counts it.
    =========================================================================
*/

#ifndef SLUICE_SECURITY_H_INCLUDED
#define SLUICE_SECURITY_H_INCLUDED

#include "private.h"

//  The three channels of a batch; their two ends are fixed: tasks between
//  ventilator and workers, results between workers and sink, control
//  between ventilator and sink.
typedef enum {
    SLUICE_CHANNEL_TASKS,
    SLUICE_CHANNEL_RESULTS,
    SLUICE_CHANNEL_CONTROL
} sluice_channel_t;

typedef struct _sluice_security_t sluice_security_t;

//  Check the security settings of a config without starting anything: the
//  --allow list parses, and with --keys the role's secret certificate
//  exists, is private to its owner, and the public certificates of the
//  peers it needs are there. Returns 0, or -1 with a one-line reason.
int
    sluice_security_check (const sluice_config_t *config, char *err, size_t errlen);

//  Load what the config's role needs and start (or share) the process's
//  ZAP handler. Returns the security, or NULL with a one-line reason.
sluice_security_t *
    sluice_security_new (const sluice_config_t *config, char *err, size_t errlen);

//  Unregister the role's policies; the last one stops the ZAP handler.
void
    sluice_security_destroy (sluice_security_t **self_p);

//  Set a socket's security options for one endpoint it is about to bind
//  (bind true) or connect to. Returns 0, or -1 with a reason in err.
int
    sluice_security_prepare (sluice_security_t *self, void *socket, sluice_channel_t channel,
                             const char *endpoint, bool bind, char *err, size_t errlen);

//  A monitor saw a connection from peer ("host:port") on a bound socket of
//  channel end in a failed handshake (why: the monitor's reason). Logged
//  (once per address, then rate-limited) and counted as refused, unless
//  it was the ZAP handler's own refusal (failed: HANDSHAKE_FAILED_AUTH),
//  which is logged and counted already.
void
    sluice_security_failed (sluice_security_t *self, sluice_channel_t channel,
                            const char *peer, int failed, const char *why);

//  Connections refused on this role's bound sockets so far.
uint64_t
    sluice_security_refused (sluice_security_t *self);

//  True if the role uses CURVE (--keys).
bool
    sluice_security_curve (sluice_security_t *self);

//  Create a deployment's certificates in dir (made 0700 if missing): one
//  per role, ventilator.cert, sink.cert and worker.cert, each with its
//  _secret file (mode 0600), and worker-HOST.cert for each of the hosts
//  given. Refuses to overwrite an existing certificate unless force.
//  Returns 0, or -1 with a reason in err.
int
    sluice_keygen (const char *dir, const char *const *hosts, size_t nhosts, bool force,
                   char *err, size_t errlen);

//  Parse one --allow item ("10.0.0.0/8", "::1", "192.168.1.7") into a
//  family, address bytes and prefix length. Returns 0 or -1.
typedef struct {
    int family;                 //  AF_INET or AF_INET6
    uint8_t addr [16];
    int bits;
} sluice_net_t;

int
    sluice_net_parse (const char *text, sluice_net_t *net);

//  True if the textual peer address (as ZAP gives it: "10.1.2.3", "::1",
//  "::ffff:10.1.2.3") lies in net.
bool
    sluice_net_contains (const sluice_net_t *net, const char *address);

//  True for a peer address on loopback (127.0.0.0/8, ::1, ::ffff:127.x)
//  or an ipc peer (libzmq gives "localhost:UID:GID:PID", or "").
bool
    sluice_peer_is_local (const char *address);

#endif
