// Package deploytest checks the container image and the Kubernetes manifests. It is
// its own module so that the product does not carry BuildKit's and Kubernetes' API
// modules: the Dockerfile is parsed with BuildKit's own parser, and every manifest is
// decoded strictly (unknown fields fail) into k8s.io/api types.
package deploytest
