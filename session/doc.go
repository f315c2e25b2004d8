// Package session turns a Config into the X session's services: the backend
// choice, the X server, x11vnc, the app and any extra services, as supervisor
// specs. It knows X and VNC; it never calls wait4, handles signals or serves HTTP.
//
//   - Backend: nvidia when asked for (or when auto and its preflight passes), else
//     Xvfb; under xvfb and dummy the app gets __GLX_VENDOR_LIBRARY_NAME=nvidia when
//     an NVIDIA GPU is visible and libGLX_nvidia.so.0 loads, which renders on the GPU
//     without any X driver in the image.
//   - X server: started with -displayfd on a pipe; ready when it writes its display
//     number, which it does only once its screens exist (the socket appears earlier,
//     and Xorg can still die with "no screens found"). End of file on the pipe is a
//     failure reported with the (EE) lines of its log. After that the screen size is
//     read back over the X protocol (package xscreen) and compared with the
//     request. A stale /tmp/.X<n>-lock and socket are removed only when the lock's
//     process is dead; a live one is a clear, permanent error.
//   - x11vnc: -rfbauth with a 0600 password file in the private runtime directory,
//     written here in VNC's format (no x11vnc -storepasswd: that would put the
//     password in argv); VNC_PASSWORD is removed from every child's environment.
//     Without a password it listens on localhost only. Ready when the port answers
//     with an RFB banner. Restarted on its own, apart from the app.
//     Beside an app VNC is optional to the session (its failure does not stop the
//     app or change the exit code) and vital to the health probes (Session.Vital);
//     without an app it is required.
//   - Files: root never follows a link or trusts a name in a directory another
//     user can write (files.go). The runtime directory is one only root can write
//     (made here, or an existing one checked, never chmod'ed); the client directory
//     the app's user reads is made anew on each start, its files created
//     O_EXCL|O_NOFOLLOW and handed over by descriptor; the screenshot's temporary
//     file is fchmod'ed and renamed relative to its opened directory.
//   - The app: the command line's positional arguments, with DISPLAY set, started
//     once X is ready (not waiting for VNC). Extra services run as root with
//     root's HOME, USER and LOGNAME.
//   - The screenshot: a PNG of screen 0 taken just before the session stops,
//     read through package xscreen; it ends with its context even when the X
//     server stalls (the connection is closed, which ends every pending reply).
package session
