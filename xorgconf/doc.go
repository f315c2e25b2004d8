// Package xorgconf renders xorg.conf text and parses PCI BusIDs. It is pure: no
// NVML, no files, no processes, so its output is tested with golden files.
//
// Xorg wants a BusID in decimal (PCI:bus:dev:func, or PCI:bus@domain:dev:func when
// the PCI domain is not 0), while nvidia-smi and NVML print hex
// (00000000:1A:00.0). ParseBusID takes all three forms.
//
// Every config it writes sets ServerFlags AutoAddGPU and AutoAddDevices to false
// (else one Xorg grabs every GPU and waits on udev), and never writes
// UseDisplayDevice "None", which breaks Xorg with NVIDIA drivers from 410.104 on.
// The nvidia flavour writes one Device and Screen per GPU with its BusID,
// AllowEmptyInitialConfiguration, ProbeAllGpus false and HardDPMS false; the dummy
// flavour computes a CVT modeline for any size and enough VideoRam for it.
package xorgconf
