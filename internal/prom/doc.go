// Package prom writes metrics in the Prometheus text exposition format (version
// 0.0.4): descriptors, constant metrics made at scrape time, collectors, and the
// process_* and go_* families that Prometheus' own client library exports.
//
// It replaces github.com/prometheus/client_golang in xinit-go: that library
// brings protobuf, its descriptor registries and a /proc parser whose package
// initialization runs at every start and whose code is about a sixth of the
// executable, all resident in a process that lives as long as its container,
// for a handful of gauges read once per scrape. The API keeps the names of the
// part of client_golang that xinit-go used (NewDesc, MustNewConstMetric,
// GaugeValue, CounterValue, Collector), so a collector reads the same.
package prom
