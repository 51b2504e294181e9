/*  =========================================================================
    security.c - CURVE keys per role, protected defaults, the ZAP handler

    Owns: loading and checking a deployment's certificates (zcert files
    made by sluice_keygen), the per-endpoint security options of every
    socket, the --allow list, and the process's one ZAP handler. See
    security.h for the rules and docs/SECURITY.md for the threat model.

    CZMQ's zauth is not used for the decisions: it has one certificate
    store and one address list per process, while a sink needs two key
    sets in one process (worker keys on results, the ventilator's key on
    control). The handler here is zauth's shape (an actor answering ZAP on
    inproc://zeromq.zap.01) with a policy per ZAP domain.
    =========================================================================
*/

#include "private.h"
#include "security.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_LOGGED_MAX 1024           //  addresses whose refusal was logged once
#define S_NETS_MAX 64               //  --allow items
#define S_KEY_TXT 41                //  Z85 public key and its NUL
#define S_OPEN_DOMAIN "sluice-open" //  the ZAP domain that accepts every peer

static const char *s_role_name [] = { "ventilator", "worker", "sink" };

//  The role at the other end of a channel, seen from role
static sluice_role_t
s_other (sluice_channel_t channel, sluice_role_t role)
{
    switch (channel) {
        case SLUICE_CHANNEL_TASKS:
            return role == SLUICE_ROLE_VENTILATOR? SLUICE_ROLE_WORKER: SLUICE_ROLE_VENTILATOR;
        case SLUICE_CHANNEL_RESULTS:
            return role == SLUICE_ROLE_SINK? SLUICE_ROLE_WORKER: SLUICE_ROLE_SINK;
        default:
            return role == SLUICE_ROLE_SINK? SLUICE_ROLE_VENTILATOR: SLUICE_ROLE_SINK;
    }
}

static const char *s_channel_name [] = { "tasks", "results", "control" };

//  One bound channel's rule, found by the ZAP handler through its domain.
typedef struct {
    char domain [32];           //  "sluice-N", unique in the process
    sluice_channel_t channel;
    sluice_role_t peer_role;    //  whose keys may connect
    bool curve;
    zhashx_t *keys;             //  Z85 public key -> "" (curve only)
    sluice_net_t nets [S_NETS_MAX];
    size_t nnets;
    uint64_t refused;
    zhashx_t *logged;           //  addresses whose refusal was logged
    sluice_ratelimit_t limit;   //  refusals beyond S_LOGGED_MAX addresses
} s_policy_t;

struct _sluice_security_t {
    sluice_role_t role;
    bool curve;
    bool insecure;
    zcert_t *own;               //  our certificate, with its secret key
    uint8_t server_key [3][32]; //  the other end's public key, per channel
    bool has_server_key [3];
    s_policy_t *policy [3];     //  per channel this role may bind
};

//  The process's ZAP handler and the policies it serves
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
//  The ZAP handler: a thread of ours rather than a zactor, so that its
//  stop can wait for it to close its end of the pipe. zactor_destroy
//  returns as soon as the actor has signalled, before it closes that end:
//  a program that then exits finds a CZMQ socket open in zsys_shutdown,
//  which sleeps 200 ms for it (1 exit in 5 of a one-task job took
//  ~230 ms instead of ~25 ms).
typedef struct {
    pthread_t thread;
    zsock_t *pipe;              //  our end; the thread owns the other
} s_zap_thread_t;
static s_zap_thread_t *s_actor;
static int s_refs;
static zhashx_t *s_policies;        //  domain -> s_policy_t (not owned)
static uint64_t s_domains;
static int s_bind_errno;

//  --------------------------------------------------------------------------
//  Addresses

int
sluice_net_parse (const char *text, sluice_net_t *net)
{
    char address [64];
    const char *slash = strchr (text, '/');
    size_t len = slash? (size_t) (slash - text): strlen (text);
    if (len == 0 || len >= sizeof address)
        return -1;
    memcpy (address, text, len);
    address [len] = 0;
    memset (net, 0, sizeof *net);
    if (inet_pton (AF_INET, address, net->addr) == 1)
        net->family = AF_INET;
    else
    if (inet_pton (AF_INET6, address, net->addr) == 1)
        net->family = AF_INET6;
    else
        return -1;
    int max = net->family == AF_INET? 32: 128;
    net->bits = max;
    if (slash) {
        char *end;
        long bits = strtol (slash + 1, &end, 10);
        if (!slash [1] || *end || bits < 0 || bits > max)
            return -1;
        net->bits = (int) bits;
    }
    return 0;
}

//  True if the first bits of a and b agree
static bool
s_prefix_equal (const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp (a, b, (size_t) bytes))
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t) (0xFF << (8 - rest));
    return (a [bytes] & mask) == (b [bytes] & mask);
}

bool
sluice_net_contains (const sluice_net_t *net, const char *address)
{
    uint8_t bytes [16];
    if (inet_pton (AF_INET, address, bytes) == 1)
        return net->family == AF_INET && s_prefix_equal (bytes, net->addr, net->bits);
    if (inet_pton (AF_INET6, address, bytes) != 1)
        return false;
    if (net->family == AF_INET6)
        return s_prefix_equal (bytes, net->addr, net->bits);
    //  an IPv4 peer of a dual-stack socket: ::ffff:a.b.c.d
    static const uint8_t mapped [12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
    return memcmp (bytes, mapped, 12) == 0 && s_prefix_equal (bytes + 12, net->addr, net->bits);
}

bool
sluice_peer_is_local (const char *address)
{
    //  ipc: libzmq gives "localhost:UID:GID:PID" (SO_PEERCRED), or nothing
    if (!*address || strncmp (address, "localhost:", 10) == 0)
        return true;
    sluice_net_t loopback4, loopback6;
    sluice_net_parse ("127.0.0.0/8", &loopback4);
    sluice_net_parse ("::1", &loopback6);
    return sluice_net_contains (&loopback4, address) || sluice_net_contains (&loopback6, address);
}

//  Parse the --allow list into nets. Returns 0, or -1 with a reason.
static int
s_parse_allow (const char *list, sluice_net_t *nets, size_t *nnets, char *err, size_t errlen)
{
    *nnets = 0;
    if (!list || !*list)
        return 0;
    char *copy = strdup (list);
    assert (copy);
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r (copy, ", ", &save); item; item = strtok_r (NULL, ", ", &save)) {
        if (*nnets == S_NETS_MAX) {
            snprintf (err, errlen, "invalid --allow value: more than %d items", S_NETS_MAX);
            rc = -1;
            break;
        }
        if (sluice_net_parse (item, &nets [*nnets])) {
            snprintf (err, errlen, "invalid --allow value '%s': not an address or "
                      "ADDRESS/BITS", item);
            rc = -1;
            break;
        }
        (*nnets)++;
    }
    free (copy);
    return rc;
}

//  --------------------------------------------------------------------------
//  Certificates

//  Write dir/name.cert into buf.
static void
s_cert_path (const char *dir, const char *name, char *buf, size_t size)
{
    snprintf (buf, size, "%s/%s.cert", dir, name);
}

//  The path of this role's own certificate (public file name; its secret
//  is path_secret): --key, else DIR/worker-HOST.cert for a worker whose
//  host has its own, else DIR/ROLE.cert.
static void
s_own_path (const sluice_config_t *config, char *buf, size_t size)
{
    if (config->key && *config->key) {
        snprintf (buf, size, "%s", config->key);
        size_t len = strlen (buf);
        if (len > 7 && streq (buf + len - 7, "_secret"))
            buf [len - 7] = 0;
        return;
    }
    if (config->role == SLUICE_ROLE_WORKER) {
        char host [256] = "";
        gethostname (host, sizeof host - 1);
        char *dot = strchr (host, '.');
        if (dot)
            *dot = 0;
        char name [300], secret [4200];
        snprintf (name, sizeof name, "worker-%s", host);
        s_cert_path (config->keys, name, buf, size);
        snprintf (secret, sizeof secret, "%s_secret", buf);
        if (*host && access (secret, F_OK) == 0)
            return;
    }
    s_cert_path (config->keys, s_role_name [config->role], buf, size);
}

//  Load our own certificate, refusing a secret file others may read.
static zcert_t *
s_load_own (const sluice_config_t *config, char *err, size_t errlen)
{
    char path [4096], secret [4200];
    s_own_path (config, path, sizeof path);
    snprintf (secret, sizeof secret, "%s_secret", path);
    struct stat st;
    if (stat (secret, &st)) {
        snprintf (err, errlen, "no secret key %s: %s (make a deployment's keys with "
                  "'sluice keygen DIR')", secret, strerror (errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        snprintf (err, errlen, "secret key %s is readable by others (mode %04o): "
                  "chmod 600 %s", secret, (unsigned) (st.st_mode & 07777), secret);
        return NULL;
    }
    zcert_t *cert = zcert_load (path);
    if (!cert || zcert_secret_txt (cert) [0] == 0
    ||  streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000")) {
        snprintf (err, errlen, "%s is not a CURVE secret certificate", secret);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

//  Load one public key (from path, or path's secret file) into key (32
//  bytes) and txt. Returns 0, or -1 with a reason.
static int
s_load_public (const char *path, uint8_t *key, char *txt, char *err, size_t errlen)
{
    zcert_t *cert = access (path, R_OK) == 0? zcert_load (path): NULL;
    if (!cert) {
        snprintf (err, errlen, "no public certificate %s (make a deployment's keys with "
                  "'sluice keygen DIR')", path);
        return -1;
    }
    memcpy (key, zcert_public_key (cert), 32);
    if (txt)
        snprintf (txt, S_KEY_TXT, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

//  True if name is a worker's public certificate: worker.cert, worker-*.cert
static bool
s_is_worker_cert (const char *name)
{
    size_t len = strlen (name);
    return len > 5 && streq (name + len - 5, ".cert")
        && (streq (name, "worker.cert") || strncmp (name, "worker-", 7) == 0);
}

//  Add the public keys of peer_role's certificates in dir to keys.
//  Returns the number added, or -1 with a reason.
static int
s_load_keys (const char *dir, sluice_role_t peer_role, zhashx_t *keys, char *err, size_t errlen)
{
    char path [4096], txt [S_KEY_TXT];
    uint8_t key [32];
    if (peer_role != SLUICE_ROLE_WORKER) {
        s_cert_path (dir, s_role_name [peer_role], path, sizeof path);
        if (s_load_public (path, key, txt, err, errlen))
            return -1;
        zhashx_insert (keys, txt, (void *) "");
        return 1;
    }
    DIR *handle = opendir (dir);
    if (!handle) {
        snprintf (err, errlen, "cannot read keys directory %s: %s", dir, strerror (errno));
        return -1;
    }
    int added = 0;
    struct dirent *entry;
    while ((entry = readdir (handle))) {
        if (!s_is_worker_cert (entry->d_name))
            continue;
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        if (s_load_public (path, key, txt, err, errlen) == 0) {
            zhashx_insert (keys, txt, (void *) "");
            added++;
        }
    }
    closedir (handle);
    if (added == 0) {
        snprintf (err, errlen, "no worker certificate (worker.cert or worker-HOST.cert) in %s",
                  dir);
        return -1;
    }
    return added;
}

//  --------------------------------------------------------------------------
//  The ZAP handler

//  Log a refusal: once per address and reason, then at most once a second.
static void
s_log_refusal (s_policy_t *policy, const char *address, const char *why)
{
    policy->refused++;
    const char *shown = *address? address: "an ipc peer";
    char seen [768];
    snprintf (seen, sizeof seen, "%s %s", shown, why);
    if (zhashx_lookup (policy->logged, seen))
        return;
    if (zhashx_size (policy->logged) < S_LOGGED_MAX) {
        zhashx_insert (policy->logged, seen, (void *) "");
        zsys_warning ("refused a connection from %s on the %s socket: %s", shown,
                      s_channel_name [policy->channel], why);
    }
    else
        sluice_warn_ratelimited (&policy->limit, "refused a connection from %s on the %s "
                                 "socket: %s", shown, s_channel_name [policy->channel], why);
}

//  Decide one ZAP request; status is "200" or "400", user the Z85 key.
static const char *
s_decide (s_policy_t *policy, const char *address, const char *mechanism,
          zframe_t *credentials, char *user)
{
    char why [512];
    if (policy->curve) {
        if (!streq (mechanism, "CURVE") || !credentials || zframe_size (credentials) != 32) {
            s_log_refusal (policy, address, "no CURVE key (this deployment uses --keys)");
            return "400";
        }
        zmq_z85_encode (user, zframe_data (credentials), 32);
        if (zhashx_lookup (policy->keys, user))
            return "200";
        snprintf (why, sizeof why, "CURVE key %.8s... is not a %s key of this deployment",
                  user, s_role_name [policy->peer_role]);
        s_log_refusal (policy, address, why);
        *user = 0;
        return "400";
    }
    if (!streq (mechanism, "NULL")) {
        s_log_refusal (policy, address, "unexpected security mechanism");
        return "400";
    }
    if (sluice_peer_is_local (address))
        return "200";
    for (size_t i = 0; i < policy->nnets; i++)
        if (sluice_net_contains (&policy->nets [i], address))
            return "200";
    snprintf (why, sizeof why, "without keys only loopback and ipc peers are accepted; "
              "give every program --keys DIR (see 'sluice keygen'), or accept this host "
              "with --allow %s, or any host with --insecure", address);
    s_log_refusal (policy, address, why);
    return "400";
}

//  Answer one request read from the handler socket.
static void
s_zap_answer (zsock_t *handler)
{
    zmsg_t *request = zmsg_recv (handler);
    if (!request)
        return;
    char *version = zmsg_popstr (request), *sequence = zmsg_popstr (request),
         *domain = zmsg_popstr (request), *address = zmsg_popstr (request),
         *identity = zmsg_popstr (request), *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    char user [S_KEY_TXT] = "";
    const char *status = "400";
    if (version && streq (version, "1.0") && domain && address && mechanism) {
        pthread_mutex_lock (&s_lock);
        s_policy_t *policy = s_policies? (s_policy_t *) zhashx_lookup (s_policies, domain): NULL;
        if (policy)
            status = s_decide (policy, address, mechanism, credentials, user);
        else
        if (streq (domain, S_OPEN_DOMAIN))
            status = "200";
        pthread_mutex_unlock (&s_lock);
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence? sequence: "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, streq (status, "200")? "OK": "not authorized");
    zmsg_addstr (reply, user);
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, handler);
    zstr_free (&version);
    zstr_free (&sequence);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&identity);
    zstr_free (&mechanism);
    zframe_destroy (&credentials);
    zmsg_destroy (&request);
}

static void
s_zap_actor (zsock_t *pipe, void *arg)
{
    (void) arg;
    zsock_t *handler = zsock_new (ZMQ_REP);
    //  libzmq frees an inproc name some time after its socket closed: a
    //  handler that follows a stopped one (roles made one after another)
    //  may find it taken for a moment
    int rc = handler? zsock_bind (handler, S_ZAP_ENDPOINT): -1;
    for (int tries = 0; handler && rc && errno == EADDRINUSE && tries < 100; tries++) {
        zclock_sleep (10);
        rc = zsock_bind (handler, S_ZAP_ENDPOINT);
    }
    if (rc) {
        s_bind_errno = errno? errno: EADDRINUSE;
        zsock_destroy (&handler);
        zsock_signal (pipe, 0);
        return;
    }
    s_bind_errno = 0;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, handler, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == handler)
            s_zap_answer (handler);
        else
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (term)
                break;
        }
        else
        if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&handler);
}

static void *
s_zap_main (void *backend)
{
    zsock_t *pipe = (zsock_t *) backend;
    s_zap_actor (pipe, NULL);
    zsock_destroy (&pipe);
    return NULL;
}

//  Start the ZAP thread; returns once it has bound (or failed to: then
//  s_bind_errno says why), or NULL if it cannot start.
static s_zap_thread_t *
s_zap_start (void)
{
    s_zap_thread_t *self = (s_zap_thread_t *) zmalloc (sizeof *self);
    zsock_t *backend = NULL;
    self->pipe = zsys_create_pipe (&backend);
    if (!self->pipe || pthread_create (&self->thread, NULL, s_zap_main, backend)) {
        zsock_destroy (&self->pipe);
        zsock_destroy (&backend);
        free (self);
        return NULL;
    }
    zsock_wait (self->pipe);
    return self;
}

//  Stop the ZAP thread and wait until it has closed its sockets.
static void
s_zap_stop (s_zap_thread_t **self_p)
{
    s_zap_thread_t *self = *self_p;
    if (!self)
        return;
    //  a thread that has left already (a failed bind, an interrupt) has
    //  no end to take the message: do not wait for one
    zsock_set_sndtimeo (self->pipe, 0);
    zstr_send (self->pipe, "$TERM");
    pthread_join (self->thread, NULL);
    zsock_destroy (&self->pipe);
    free (self);
    *self_p = NULL;
}

//  Start the handler for the first security in the process (the last
//  one's destroy stops it, so that a program may shut CZMQ down after its
//  roles). Called with s_lock held. Returns 0, or -1 with a reason.
static int
s_handler_ref (char *err, size_t errlen)
{
    if (s_refs++ > 0)
        return 0;
    s_policies = zhashx_new ();
    s_actor = s_zap_start ();
    if (!s_actor || s_bind_errno) {
        snprintf (err, errlen, "cannot start the ZAP handler on %s: %s (does this process "
                  "run another authenticator, such as zauth?)", S_ZAP_ENDPOINT,
                  zmq_strerror (s_bind_errno? s_bind_errno: errno));
        s_zap_stop (&s_actor);
        zhashx_destroy (&s_policies);
        s_refs = 0;
        return -1;
    }
    return 0;
}

static void
s_handler_unref (void)
{
    if (--s_refs > 0)
        return;
    s_zap_stop (&s_actor);
    zhashx_destroy (&s_policies);
}

//  --------------------------------------------------------------------------
//  A role's security

static void
s_policy_destroy (s_policy_t **policy_p)
{
    s_policy_t *policy = *policy_p;
    if (!policy)
        return;
    zhashx_destroy (&policy->keys);
    zhashx_destroy (&policy->logged);
    free (policy);
    *policy_p = NULL;
}

//  True if role uses channel (the ventilator has no results socket, ...)
static bool
s_uses (sluice_role_t role, sluice_channel_t channel)
{
    return !(role == SLUICE_ROLE_VENTILATOR && channel == SLUICE_CHANNEL_RESULTS)
        && !(role == SLUICE_ROLE_WORKER && channel == SLUICE_CHANNEL_CONTROL)
        && !(role == SLUICE_ROLE_SINK && channel == SLUICE_CHANNEL_TASKS);
}

//  Load what the role needs; with start, register its policies with the
//  process's ZAP handler (started if need be).
static sluice_security_t *
s_new (const sluice_config_t *config, bool start, char *err, size_t errlen)
{
    sluice_security_t *self = (sluice_security_t *) zmalloc (sizeof *self);
    self->role = config->role;
    self->curve = config->keys && *config->keys;
    self->insecure = config->insecure && !self->curve;
    sluice_net_t nets [S_NETS_MAX];
    size_t nnets = 0;
    if (s_parse_allow (config->allow, nets, &nnets, err, errlen))
        goto fail;
    if (self->curve && !(self->own = s_load_own (config, err, errlen)))
        goto fail;
    for (int c = 0; c < 3; c++) {
        sluice_channel_t channel = (sluice_channel_t) c;
        if (!s_uses (self->role, channel))
            continue;
        sluice_role_t peer = s_other (channel, self->role);
        s_policy_t *policy = (s_policy_t *) zmalloc (sizeof *policy);
        self->policy [c] = policy;
        policy->channel = channel;
        policy->peer_role = peer;
        policy->curve = self->curve;
        policy->keys = zhashx_new ();
        policy->logged = zhashx_new ();
        memcpy (policy->nets, nets, nnets * sizeof nets [0]);
        policy->nnets = nnets;
        if (!self->curve)
            continue;
        if (s_load_keys (config->keys, peer, policy->keys, err, errlen) < 0)
            goto fail;
        //  as a client we talk to one server: a worker's shared key
        char path [4096];
        s_cert_path (config->keys, s_role_name [peer], path, sizeof path);
        if (s_load_public (path, self->server_key [c], NULL, err, errlen) == 0)
            self->has_server_key [c] = true;
        else
        if (peer != SLUICE_ROLE_WORKER)
            goto fail;
    }
    if (start && (self->curve || !self->insecure)) {
        pthread_mutex_lock (&s_lock);
        int rc = s_handler_ref (err, errlen);
        if (rc == 0)
            for (int c = 0; c < 3; c++)
                if (self->policy [c]) {
                    snprintf (self->policy [c]->domain, sizeof self->policy [c]->domain,
                              "sluice-%" PRIu64, ++s_domains);
                    zhashx_insert (s_policies, self->policy [c]->domain, self->policy [c]);
                }
        pthread_mutex_unlock (&s_lock);
        if (rc) {
            for (int c = 0; c < 3; c++)
                s_policy_destroy (&self->policy [c]);
            goto fail;
        }
    }
    return self;
fail:
    for (int c = 0; c < 3; c++)
        s_policy_destroy (&self->policy [c]);
    zcert_destroy (&self->own);
    free (self);
    return NULL;
}

sluice_security_t *
sluice_security_new (const sluice_config_t *config, char *err, size_t errlen)
{
    return s_new (config, true, err, errlen);
}

int
sluice_security_check (const sluice_config_t *config, char *err, size_t errlen)
{
    sluice_security_t *self = s_new (config, false, err, errlen);
    int rc = self? 0: -1;
    sluice_security_destroy (&self);
    return rc;
}

void
sluice_security_destroy (sluice_security_t **self_p)
{
    sluice_security_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&s_lock);
    bool registered = false;
    for (int c = 0; c < 3; c++)
        if (self->policy [c] && *self->policy [c]->domain) {
            zhashx_delete (s_policies, self->policy [c]->domain);
            registered = true;
        }
    if (registered)
        s_handler_unref ();
    pthread_mutex_unlock (&s_lock);
    for (int c = 0; c < 3; c++)
        s_policy_destroy (&self->policy [c]);
    zcert_destroy (&self->own);
    free (self);
    *self_p = NULL;
}

int
sluice_security_prepare (sluice_security_t *self, void *socket, sluice_channel_t channel,
                         const char *endpoint, bool bind, char *err, size_t errlen)
{
    if (!self)
        return 0;
    //  libzmq copies a socket's options into each bind and connect, so
    //  one socket may bind with one rule and connect with another
    bool tcp = strncmp (endpoint, "tcp://", 6) == 0;
    bool wire = tcp || strncmp (endpoint, "ipc://", 6) == 0;
    s_policy_t *policy = self->policy [channel];
    const char *domain = "";
    int rc = zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &(int) { 0 }, sizeof (int));
    if (self->curve && wire) {
        if (bind) {
            domain = policy? policy->domain: "";
            rc |= zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &(int) { 1 }, sizeof (int));
            rc |= zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, zcert_secret_key (self->own), 32);
        }
        else {
            if (!self->has_server_key [channel]) {
                snprintf (err, errlen, "cannot connect %s: connecting to workers needs the "
                          "shared worker.cert in the keys directory", endpoint);
                return -1;
            }
            rc |= zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, self->server_key [channel], 32);
            rc |= zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, zcert_public_key (self->own), 32);
            rc |= zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, zcert_secret_key (self->own), 32);
        }
    }
    else
    if (bind && tcp && !self->insecure && policy)
        domain = policy->domain;
    //  libzmq 4.3.4 cannot clear a ZAP domain once set: an endpoint after
    //  one with a domain gets the one that accepts every peer
    if (!*domain) {
        char current [64] = "";
        size_t size = sizeof current;
        if (zmq_getsockopt (socket, ZMQ_ZAP_DOMAIN, current, &size) == 0 && *current)
            domain = S_OPEN_DOMAIN;
    }
    if (*domain)
        rc |= zmq_setsockopt (socket, ZMQ_ZAP_DOMAIN, domain, strlen (domain));
    if (rc) {
        snprintf (err, errlen, "cannot set up security for %s: %s", endpoint,
                  zmq_strerror (errno));
        return -1;
    }
    return 0;
}

const char *
sluice_security_decide (sluice_security_t *self, sluice_channel_t channel,
                        const char *address, const char *mechanism, const uint8_t *key)
{
    if (!self || !self->policy [channel])
        return "400";
    zframe_t *credentials = key? zframe_new (key, 32): NULL;
    char user [S_KEY_TXT] = "";
    pthread_mutex_lock (&s_lock);
    const char *status = s_decide (self->policy [channel], address, mechanism, credentials,
                                   user);
    pthread_mutex_unlock (&s_lock);
    zframe_destroy (&credentials);
    return status;
}

void
sluice_security_failed (sluice_security_t *self, sluice_channel_t channel, const char *peer,
                        int failed, const char *why)
{
    if (!self || !self->policy [channel] || failed == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return;
    //  "10.0.0.5:41234" or "[::1]:41234": one line per address, not port
    char address [256];
    snprintf (address, sizeof address, "%s", !*peer? "an unknown address"
                                           : *peer == '['? peer + 1: peer);
    char *end = strrchr (address, *peer == '['? ']': ':');
    if (end && strncmp (peer, "ipc://", 6))
        *end = 0;
    char text [512];
    snprintf (text, sizeof text, "handshake failed (%s)%s", why? why: "no detail",
              !self->curve? ": does it use --keys while this program does not?"
              : strstr (why? why: "", "mismatch")? ": a peer without keys"
              : ": a peer without this deployment's keys");
    pthread_mutex_lock (&s_lock);
    s_log_refusal (self->policy [channel], address, text);
    pthread_mutex_unlock (&s_lock);
}

uint64_t
sluice_security_refused (sluice_security_t *self)
{
    if (!self)
        return 0;
    uint64_t refused = 0;
    pthread_mutex_lock (&s_lock);
    for (int c = 0; c < 3; c++)
        if (self->policy [c])
            refused += self->policy [c]->refused;
    pthread_mutex_unlock (&s_lock);
    return refused;
}

bool
sluice_security_curve (sluice_security_t *self)
{
    return self && self->curve;
}

//  --------------------------------------------------------------------------
//  sluice keygen

//  Save one role's certificate as dir/name.cert and dir/name.cert_secret.
static int
s_save_cert (const char *dir, const char *name, const char *role, bool force,
             char *err, size_t errlen)
{
    char path [4096], secret [4200];
    s_cert_path (dir, name, path, sizeof path);
    snprintf (secret, sizeof secret, "%s_secret", path);
    if (!force && (access (path, F_OK) == 0 || access (secret, F_OK) == 0)) {
        snprintf (err, errlen, "%s exists: keys are not replaced without --force "
                  "(every program of the deployment would need the new ones)", path);
        return -1;
    }
    zcert_t *cert = zcert_new ();
    zcert_set_meta (cert, "role", "%s", role);
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "created-by", "sluice keygen");
    int rc = zcert_save (cert, path);
    zcert_destroy (&cert);
    if (rc || chmod (secret, 0600) || chmod (path, 0644)) {
        snprintf (err, errlen, "cannot write %s: %s", path, strerror (errno));
        return -1;
    }
    return 0;
}

int
sluice_keygen (const char *dir, const char *const *hosts, size_t nhosts, bool force,
               char *err, size_t errlen)
{
    struct stat st;
    if (stat (dir, &st)) {
        if (mkdir (dir, 0700)) {
            snprintf (err, errlen, "cannot create %s: %s", dir, strerror (errno));
            return -1;
        }
    }
    else
    if (!S_ISDIR (st.st_mode)) {
        snprintf (err, errlen, "%s is not a directory", dir);
        return -1;
    }
    for (size_t i = 0; i < nhosts; i++)
        if (!*hosts [i] || strpbrk (hosts [i], "/ \t\n")) {
            snprintf (err, errlen, "invalid host name '%s'", hosts [i]);
            return -1;
        }
    if (s_save_cert (dir, "ventilator", "ventilator", force, err, errlen)
    ||  s_save_cert (dir, "sink", "sink", force, err, errlen)
    ||  s_save_cert (dir, "worker", "worker", force, err, errlen))
        return -1;
    for (size_t i = 0; i < nhosts; i++) {
        char name [300];
        snprintf (name, sizeof name, "worker-%s", hosts [i]);
        if (s_save_cert (dir, name, "worker", force, err, errlen))
            return -1;
    }
    return 0;
}
