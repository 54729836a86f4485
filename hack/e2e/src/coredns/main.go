// Package main is the e2e cluster's DNS server: CoreDNS with only the plugins its Corefile
// (hack/e2e/addons/coredns.yaml) uses. Nothing is forwarded: no name outside the cluster resolves.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order in which the plugins handle a query (CoreDNS's own order, restricted to these).
func init() {
	dnsserver.Directives = []string{
		"ready", "health", "prometheus", "errors", "loadbalance", "cache", "kubernetes",
	}
}

func main() { coremain.Run() }
