package health

import (
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// ownFirst gathers from g and puts xinit-go's own metric families (xinit_*) before
// the Go runtime's and the process's, so that /metrics starts with what a person
// came to read; within each part the registry's order (by name) stays.
type ownFirst struct{ g prometheus.Gatherer }

func (o ownFirst) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := o.g.Gather()
	sort.SliceStable(mfs, func(i, j int) bool {
		return strings.HasPrefix(mfs[i].GetName(), "xinit_") && !strings.HasPrefix(mfs[j].GetName(), "xinit_")
	})
	return mfs, err
}
