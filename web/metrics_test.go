package web

import (
	"testing"

	"github.com/xinit-go/xinit-go/internal/prom"
)

func counterValue(t *testing.T, c *prom.Counter) float64 {
	t.Helper()
	return c.Value()
}
