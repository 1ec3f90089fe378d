// cnidriver: a cnitool-compatible driver built on the real libcni (Debian's
// golang-github-appc-cni-dev, libcni 1.1.2), so end-to-end tests exercise the
// library runtimes use: config loading, capability args, the result cache,
// CHECK/DEL with the cached prevResult, and version handling.
//
//	cnidriver add|check|del <network> <netns-path>
//
// Environment, as cnitool: NETCONFPATH (default /etc/cni/net.d), CNI_PATH,
// CNI_ARGS, CAP_ARGS (JSON), CNI_IFNAME (default eth0). One addition for tests:
// CNI_CACHE_DIR relocates libcni's result cache (default /var/lib/cni).
package main

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s add|check|del <network> <netns-path>\n", filepath.Base(os.Args[0]))
	os.Exit(1)
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// parseArgs splits CNI_ARGS exactly as cnitool does.
func parseArgs(args string) ([][2]string, error) {
	var result [][2]string
	for _, pair := range strings.Split(args, ";") {
		kv := strings.Split(pair, "=")
		if len(kv) != 2 || kv[0] == "" || kv[1] == "" {
			return nil, fmt.Errorf("invalid CNI_ARGS pair %q", pair)
		}
		result = append(result, [2]string{kv[0], kv[1]})
	}
	return result, nil
}

func main() {
	if len(os.Args) < 4 {
		usage()
	}
	netdir := os.Getenv("NETCONFPATH")
	if netdir == "" {
		netdir = "/etc/cni/net.d"
	}
	netconf, err := libcni.LoadConfList(netdir, os.Args[2])
	fail(err)

	var capabilityArgs map[string]interface{}
	if value := os.Getenv("CAP_ARGS"); value != "" {
		fail(json.Unmarshal([]byte(value), &capabilityArgs))
	}
	var cniArgs [][2]string
	if value := os.Getenv("CNI_ARGS"); value != "" {
		cniArgs, err = parseArgs(value)
		fail(err)
	}
	ifName, ok := os.LookupEnv("CNI_IFNAME")
	if !ok {
		ifName = "eth0"
	}
	netns, err := filepath.Abs(os.Args[3])
	fail(err)

	// cnitool derives the container ID from the netns path, so ADD and DEL match.
	sum := sha512.Sum512([]byte(netns))
	containerID := fmt.Sprintf("cnitool-%x", sum[:10])

	path := filepath.SplitList(os.Getenv("CNI_PATH"))
	var cninet *libcni.CNIConfig
	if cacheDir := os.Getenv("CNI_CACHE_DIR"); cacheDir != "" {
		cninet = libcni.NewCNIConfigWithCacheDir(path, cacheDir, nil)
	} else {
		cninet = libcni.NewCNIConfig(path, nil)
	}
	rt := &libcni.RuntimeConf{
		ContainerID:    containerID,
		NetNS:          netns,
		IfName:         ifName,
		Args:           cniArgs,
		CapabilityArgs: capabilityArgs,
	}

	ctx := context.TODO()
	switch os.Args[1] {
	case "add":
		result, err := cninet.AddNetworkList(ctx, netconf, rt)
		if result != nil {
			_ = result.Print()
			fmt.Println()
		}
		fail(err)
	case "check":
		fail(cninet.CheckNetworkList(ctx, netconf, rt))
	case "del":
		fail(cninet.DelNetworkList(ctx, netconf, rt))
	default:
		usage()
	}
}
