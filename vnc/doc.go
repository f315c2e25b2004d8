// Package vnc owns x11vnc as a service spec: its command line (the password
// only ever in an rfbauth file, VNC's DES-obfuscated format written here), the
// warnings for a long, weak or missing password, readiness on the port's RFB
// banner, the debug level for its harmless noise, and the sweep of the System
// V shared memory segments a dead x11vnc leaves. The session names the service
// and gives its user, environment, role and restarts.
package vnc
