module example.com/nexus/go-hello

go 1.21
