# Reference CIs for binomial proportions: exact (Clopper-Pearson, binom.test) and Wilson
# (prop.test without continuity correction). Run: Rscript tests/reference/make_proportion.R
source_fmt <- function(x) if (is.na(x)) "null" else formatC(x, digits = 17, format = "g")
cases <- list(c(39, 98), c(68, 98), c(41, 98), c(0, 12), c(12, 12), c(1, 5), c(4, 11), c(10, 11),
              c(38, 81), c(9, 17), c(20, 98), c(250, 1000))
rows <- c()
for (lev in c(0.95, 0.90)) {
  for (cs in cases) {
    x <- cs[1]; n <- cs[2]
    cp <- binom.test(x, n, conf.level = lev)$conf.int
    wi <- suppressWarnings(prop.test(x, n, conf.level = lev, correct = FALSE)$conf.int)
    rows <- c(rows, sprintf('{"x": %d, "n": %d, "conf_level": %s, "cp_lower": %s, "cp_upper": %s, "wilson_lower": %s, "wilson_upper": %s}',
                            x, n, source_fmt(lev), source_fmt(cp[1]), source_fmt(cp[2]), source_fmt(wi[1]), source_fmt(wi[2])))
  }
}
out <- sprintf('{"r_version": "%s", "calls": "binom.test(x, n, conf.level)$conf.int; prop.test(x, n, conf.level, correct = FALSE)$conf.int", "cases": [\n%s\n]}',
               R.version.string, paste(rows, collapse = ",\n"))
writeLines(out, "tests/reference/fixtures/proportion/binomial.json")
