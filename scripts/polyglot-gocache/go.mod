module gocacheprobe

go 1.18
