package config

// The settings that are a choice among words are typed here, parsed once by
// Load; their values are the words the settings take, so the JSON shows them as
// they were given. Packages that act on them map them to their own types with
// an exhaustive switch (config knows neither the supervisor nor the watchdog).

// RestartPolicy is when the app (XINIT_APP_RESTART) or an extra service
// (restart = ...) is started again after it exits on its own.
type RestartPolicy string

// Restart policies.
const (
	RestartNever     RestartPolicy = "never"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartAlways    RestartPolicy = "always"
)

// FreezeAction is what a frozen or black screen does (XINIT_FREEZE_ACTION).
type FreezeAction string

// Freeze actions.
const (
	FreezeFail    FreezeAction = "fail"
	FreezeRestart FreezeAction = "restart"
	FreezeLog     FreezeAction = "log"
)

// AppReady is when the app counts as ready (XINIT_APP_READY).
type AppReady string

// App readiness.
const (
	AppReadyStart AppReady = "start"
	AppReadyFrame AppReady = "frame"
)

// VulkanMode is whether Vulkan apps get the present layer, and whether it may leave
// swapchains to a driver that presents (XINIT_VULKAN).
type VulkanMode string

// Vulkan modes.
const (
	VulkanAuto  VulkanMode = "auto"
	VulkanLayer VulkanMode = "layer"
	VulkanCopy  VulkanMode = "copy"
	VulkanOff   VulkanMode = "off"
)

// RecordKeep is when the recording is kept (XINIT_RECORD_KEEP).
type RecordKeep string

// When the recording is kept.
const (
	KeepAlways  RecordKeep = "always"
	KeepFailure RecordKeep = "failure"
)

// parseEnum reads one of choices, case-insensitively, as its type.
func parseEnum[T ~string](v string, choices ...T) (T, error) {
	words := make([]string, len(choices))
	for i, c := range choices {
		words[i] = string(c)
	}
	w, err := parseChoice(v, words...)
	return T(w), err
}
