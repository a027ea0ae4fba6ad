## Reference text of R's number formatting, for riskset/format.py.
## Run from the repository root: Rscript tests/reference/make_format.R
## Writes fixtures/format/format.json: for each value x, format.pval(x, digits = 3) and
## format(x, digits = d) for d in 3, 4. Values: a fixed list of edge cases, a log-spaced
## grid over [1e-20, 1] and seeded random p-values and statistics.
suppressMessages(library(jsonlite))
source("tests/reference/json_helpers.R")
set.seed(20261208)
edge <- c(1, 0.99999, 0.5, 0.36, 0.3601, 0.1, 0.05, 0.0500001, 0.0499, 0.0123, 0.01, 0.0015,
          0.001, 0.00099, 0.000123, 0.00012345, 1e-4, 6.8e-5, 2.938e-9, 2.3e-16, 2.2e-16,
          1e-20, 0, 123456.7, 232.41, 0.83, 1095.75, 9.999, 99.95, 0.00010001)
grid <- 10^seq(-20, 0, by = 0.137)
rnd <- c(runif(100), 10^runif(100, -12, 0), rexp(50, 0.01))
x <- c(edge, grid, rnd)
pval3 <- vapply(x, function(v) format.pval(v, digits = 3), character(1))
fmt3 <- vapply(x, function(v) format(v, digits = 3), character(1))
fmt4 <- vapply(x, function(v) format(v, digits = 4), character(1))
obj <- list(r_version = R.version.string,
            calls = "format.pval(x, digits = 3); format(x, digits = 3); format(x, digits = 4), one value at a time",
            x = jarr(x), format_pval_3 = pval3, format_3 = fmt3, format_4 = fmt4)
write_json_file(obj, "tests/reference/fixtures/format/format.json")
