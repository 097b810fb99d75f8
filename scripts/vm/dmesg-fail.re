(^|[^A-Z])BUG[: ]
KFENCE:
KASAN:
UBSAN:
general protection
WARNING:
Oops
refcount_t:
Call Trace:
kmemleak
cache still has objects
blocked for more than [0-9]+ seconds
list_(add|del) corruption
Kernel panic
rcu: INFO: .*stall
