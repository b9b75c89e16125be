# SPDX-License-Identifier: GPL-2.0-or-later
# Functions the bench scripts' reports share (compare.sh, guest-fio.sh,
# syscalls.sh, metrics-ab.sh put this file's text before their own awk
# program). Variables: md (markdown tables), w1 and w (plain tables: the
# width of the first column and of the others).

# The median of the space-separated numbers in s ("" when none).
function median(s,   a, n, i, j, t) {
  n = split(s, a, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; i++)          # insertion sort, n is small
    for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
      t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
    }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# One table row of the n cells c[1..n].
function row(c, n,   i, s) {
  if (md) {
    s = "|"
    for (i = 1; i <= n; i++) s = s " " c[i] " |"
  } else {
    s = sprintf("%-" w1 "s", c[1])
    for (i = 2; i <= n; i++) s = s sprintf(" %" w "s", c[i])
  }
  print s
}
# The line under a markdown header row of n cells.
function rule(n,   i, s) {
  if (!md) return
  s = "|"
  for (i = 1; i <= n; i++) s = s " --- |"
  print s
}
function fmt(v, f) { return v == "" ? "-" : sprintf(f, v) }
function ratio(v, r) {
  return (v == "" || r == "" || r == 0) ? "-" : sprintf("%.2f", v / r)
}
