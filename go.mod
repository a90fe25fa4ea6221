module github.com/tessera-gis/tessera

go 1.26.8
