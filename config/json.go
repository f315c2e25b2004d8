package config

import "encoding/json"

// MarshalJSON writes the configuration under its TOML keys (the settings in
// summary.json), each duration as the setting takes it, with its unit ("30s"),
// not as a count of nanoseconds.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // without this method
	return json.Marshal(struct {
		plain
		XReady         string `json:"x_ready_timeout"`
		AppTimeout     string `json:"app_timeout"`
		StopGrace      string `json:"stop_grace"`
		RestartWindow  string `json:"restart_window"`
		RestartBackoff string `json:"restart_backoff"`
		RecordLast     string `json:"record_last"`
		FreezeTimeout  string `json:"freeze_timeout"`
		SlowFor        string `json:"slow_for"`
		AppReadyTime   string `json:"app_ready_timeout"`
	}{plain(c), c.XReady.String(), c.AppTimeout.String(), c.StopGrace.String(), c.RestartWindow.String(),
		c.RestartBackoff.String(), c.RecordLast.String(), c.FreezeTimeout.String(), c.SlowFor.String(), c.AppReadyTimeout.String()})
}
