"""The one Kubernetes layer: the only code that talks to kube-apiserver.

`client` builds API clients and maps every failure onto `errors` once; `informer` keeps
watch-fed caches; `patching` computes merge patches; `objects.Kube` reads (cache or direct)
and writes (object then status, Secrets, owner references, Leases). The API's Kubernetes
store and the operator both use it; the agent never does. (Import the submodules: this
package's own namespace stays empty, so importing `elemental_kube.errors` loads no client.)
"""
