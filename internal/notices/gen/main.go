// Command gen writes THIRD_PARTY_NOTICES for xinit-go: `make notices` runs it
// at the module's root.
package main

import (
	"fmt"
	"os"

	"github.com/xinit-go/xinit-go/internal/notices"
)

func main() {
	mods, err := notices.Linked(".", "./cmd/xinit-go")
	if err == nil {
		err = notices.Render(os.Stdout, "xinit-go", mods)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notices:", err)
		os.Exit(1)
	}
}
