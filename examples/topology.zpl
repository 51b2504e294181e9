#   One topology for a multi-host pipeline, shared by all three programs:
#       ventilator -c topology.zpl tasks.txt        (on vent-host)
#       worker -c topology.zpl --exec 'gzip -c {}'   (on any host)
#       sink -c topology.zpl > results.txt           (on sink-host)
#   An endpoint without @ (bind) or > (connect) takes each program's natural
#   direction: the ventilator binds tasks and connects to control, the sink
#   binds results and control, workers connect to tasks and results.
#   Precedence: command-line flag > SLUICE_* environment variable > this file.
#   Keys: 'sluice keygen /etc/sluice/keys' once, then copy the directory to
#   every host (each host needs the .cert files and its own role's _secret).
#   Without a security section only loopback and ipc peers are accepted.
sluice
    tasks = tcp://vent-host:5557
    results = tcp://sink-host:5558
    control = tcp://sink-host:5559
    max-size = 64M
security
    keys = /etc/sluice/keys
