module flowgate.test/argojson

go 1.19
