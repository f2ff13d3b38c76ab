// go-hello: a Go (GOOS=wasip1 GOARCH=wasm) Nexus Function. Reads stdin, writes it to a file
// with os.WriteFile, reads it back with os.ReadFile and prints a greeting with what it read.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading stdin:", err)
		os.Exit(1)
	}
	name := strings.TrimSpace(string(input))
	if name == "" {
		name = "world"
	}
	if err := os.WriteFile("greeting.txt", []byte("hello, "+name), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(1)
	}
	back, err := os.ReadFile("greeting.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(1)
	}
	fmt.Printf("%s (%d bytes via greeting.txt)\n", back, len(back))
}
