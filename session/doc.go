// Package session turns a Config into the X session's services: it owns the
// plan (the backend choice and what it rests on, the Vulkan layer's rule) and
// assembles the specs (Build) of the X server (package xserver), x11vnc
// (package vnc), the renderer probe (package glprobe), the app and any extra
// services, for the supervisor. It never calls wait4, handles signals or serves
// HTTP.
//
//   - Backend: nvidia when asked for (or when auto and its preflight passes), else
//     Xvfb; under xvfb and dummy the app gets __GLX_VENDOR_LIBRARY_NAME=nvidia when
//     an NVIDIA GPU is visible and libGLX_nvidia.so.0 loads, which renders on the GPU
//     without any X driver in the image (plan.go). Under the same backends NVIDIA's
//     Vulkan cannot present, so the app gets the present-by-copy layer when it is
//     installed (vulkan.go).
//   - X server: the xorg.conf written into the runtime directory (or
//     XINIT_XORG_CONF checked), the X authority file handed to clients; the
//     server itself, its readiness and stale locks are package xserver's.
//   - x11vnc: its password file is written here with the client directory (no
//     x11vnc -storepasswd: that would put the password in argv); VNC_PASSWORD is
//     removed from every child's environment. Beside an app VNC is optional to
//     the session (its failure does not stop the app or change the exit code)
//     and vital to the health probes (Session.Vital); without an app it is
//     required. The rest is package vnc's.
//   - Files: root never follows a link or trusts a name in a directory another
//     user can write (files.go). The runtime directory is one only root can write
//     (made here, or an existing one checked, never chmod'ed); the client directory
//     the app's user reads is made anew on each start, its files created
//     O_EXCL|O_NOFOLLOW and handed over by descriptor; the screenshot is written through package
//     linksafe (package xscreen).
//   - The app: the command line's positional arguments, with DISPLAY set, started
//     once X is ready (not waiting for VNC), as XINIT_APP_USER when set (appuser.go).
//     Extra services run as root with root's HOME, USER and LOGNAME.
//   - The screenshot: a PNG of screen 0 taken just before the session stops,
//     read through package xscreen; it ends with its context even when the X
//     server stalls (the connection is closed, which ends every pending reply).
package session
