// Package health serves what Kubernetes, Docker's HEALTHCHECK and people ask a
// running xinit-go, read-only, from the supervisor's status snapshots:
//
//	GET /healthz  200 while the supervisor runs and no required service, vital
//	              service (Info.Vital: VNC beside an app) or the app has failed for
//	              good (a restart within budget is healthy); else 503
//	GET /readyz   200 once every required and vital service is ready (X, VNC when
//	              on, the app running)
//	GET /status   JSON: backend and why, display, resolution, GPUs, each service
//	GET /metrics  Prometheus text: xinit_* metrics and the Go process collector
//
// No answer carries a secret: the VNC password is not in anything this package
// is given, and environment values are never served.
//
// The server answers only its own Hosts (internal/netguard), bounds connections
// in all and per client address with idle ones giving way, and serves a Unix
// socket in the private runtime directory with slots of its own.
//
// Probe is the client behind `xinit-go health`: through that socket when it is
// there, else over TCP; exit 0 when the endpoint answers 200 within a short
// timeout, 1 otherwise.
package health
