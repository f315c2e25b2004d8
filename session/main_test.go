package session

import (
	"os"
	"testing"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.RunHelperIfAsked()
	os.Exit(m.Run())
}
