/**
 * The one rule on `historySize` every way of building a broker applies. History is what a reconnecting
 * client resumes from and what fills a gap in live delivery after a Redis reconnect; without it (0) every
 * resume is a reset and a Redis catch-up reads nothing (`XRANGE ... COUNT 0` even answers nil), so the
 * delivery promise cannot hold: it is refused at startup rather than given a meaning.
 */
import { FVIEWS_ERR_OPTION_INVALID } from '../errors.js'

export function checkHistorySize (historySize: number | undefined): void {
  if (historySize === undefined || (Number.isInteger(historySize) && historySize >= 1)) return
  throw new FVIEWS_ERR_OPTION_INVALID('historySize', `expected an integer of at least 1 (the most events kept per topic for resume and gap filling; default historyBytes / 64), got '${String(historySize)}'`)
}
