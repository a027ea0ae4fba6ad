## Helpers shared by the fixture scripts (sourced by make_r.R and make_cox.R).
## The sourcing script defines DATA_DIR before calling write_data_csv().
##
## jsonlite's digits = NA means "15 significant digits", which does not round
## trip every double. Numbers are formatted with the shortest of %.15g / %.16g /
## %.17g that reads back to the identical double and handed to jsonlite verbatim
## (class "json"): NA and NaN -> null, Inf -> "Inf", -Inf -> "-Inf".

shortest_num <- function(x) {
  out <- sprintf("%.15g", x)
  fin <- is.finite(x)
  for (d in 16:17) {
    bad <- which(fin)[as.numeric(out[fin]) != x[fin]]
    if (!length(bad)) break
    out[bad] <- sprintf(paste0("%.", d, "g"), x[bad])
  }
  out
}

json_num_text <- function(x) {
  x <- as.numeric(x)
  out <- shortest_num(x)
  out[is.infinite(x) & x > 0] <- '"Inf"'
  out[is.infinite(x) & x < 0] <- '"-Inf"'
  out[is.na(x)] <- "null"
  out
}
jarr <- function(x) structure(paste0("[", paste(json_num_text(x), collapse = ","), "]"),
                              class = "json")
jnum <- function(x) { stopifnot(length(x) == 1); structure(json_num_text(x), class = "json") }
jmat <- function(m) {
  m <- as.matrix(m)
  rows <- vapply(seq_len(nrow(m)), function(i) unclass(jarr(m[i, ])), character(1))
  structure(paste0("[", paste(rows, collapse = ","), "]"), class = "json")
}
JNULL <- structure("null", class = "json")
jstr_or_null <- function(s) if (is.null(s)) JNULL else unbox(s)

write_json_file <- function(obj, path) {
  txt <- toJSON(obj, json_verbatim = TRUE, auto_unbox = TRUE, pretty = TRUE,
                digits = NA, na = "null")
  writeLines(txt, path, useBytes = TRUE)
  invisible(path)
}

write_data_csv <- function(d, name) {
  d <- as.data.frame(d)
  rownames(d) <- NULL
  quote_cols <- which(vapply(d, function(v) is.character(v) || is.factor(v), logical(1)))
  for (j in seq_along(d)) {
    v <- d[[j]]
    if (is.double(v)) {
      s <- shortest_num(v)
      s[is.na(v)] <- NA
      d[[j]] <- s
    }
  }
  path <- file.path(DATA_DIR, paste0(name, ".csv"))
  write.csv(d, path, row.names = FALSE,
            na = "", quote = unname(quote_cols), fileEncoding = "UTF-8")
  invisible(path)
}

deparse1line <- function(cl) paste(deparse(cl, width.cutoff = 500L), collapse = " ")
