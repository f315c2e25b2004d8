// Package config turns flags, environment variables and a TOML file into one
// validated Config. Precedence: flags > environment > TOML file (--config,
// XINIT_CONFIG, else /etc/xinit-go/config.toml when it exists) > defaults.
//
// Every setting is declared once, in the table in settings.go, with its variable,
// TOML key, flag, default and help; the flag set, the --help text and docs/configuration.md's
// settings table all come from that table, and a test keeps that page equal
// to it. Load reports every problem at once, each naming the variable, key or flag,
// the bad value and an example of a good one. Unknown TOML keys are errors.
//
// The VNC password has no flag (a flag would put it in every process's view of our
// argv) and is never printed: Config.String and the JSON form leave it out.
//
// The package knows nothing of processes or NVML.
package config
