// Package notices knows the licences of the Go modules xinit-go is built from:
// which modules the shipped binary links, the licence file of each in the
// module cache, what licence that text is, and the THIRD_PARTY_NOTICES file
// made from them (`make notices`). Its tests fail when a module with a licence
// that is not permissive enters go.mod, and when the notices are stale.
package notices
