// Pulls per day as an SVG bar chart: no chart library, so the first page stays small.
import { count, date } from "./format";

export interface Day {
  day: number;
  pulls: number;
}

const DAY = 86_400;

/** Fills the days without pulls between `from` and `to` (Unix seconds) with zero. */
export function everyDay(days: Day[], from: number, to: number): Day[] {
  const pulls = new Map(days.map((d) => [d.day, d.pulls]));
  const out: Day[] = [];
  for (let day = Math.floor(from / DAY) * DAY; day <= to; day += DAY) {
    out.push({ day, pulls: pulls.get(day) ?? 0 });
  }
  return out;
}

export function PullsChart({ days, label }: { days: Day[]; label: string }) {
  const total = days.reduce((sum, d) => sum + d.pulls, 0);
  const max = Math.max(1, ...days.map((d) => d.pulls));
  const width = Math.max(days.length, 1) * 10;
  const height = 100;
  return (
    <figure>
      <svg className="chart" viewBox={`0 0 ${width} ${height + 14}`} preserveAspectRatio="none" role="img" aria-label={`${label}: ${count(total)} pulls`}>
        {days.map((d, i) => {
          const h = (d.pulls / max) * height;
          return (
            <rect key={d.day} x={i * 10 + 1} y={height - h} width={8} height={h}>
              <title>{`${date(d.day)}: ${count(d.pulls)}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption className="muted">
        {label}: {count(total)} pulls{days.length > 0 && `, ${date(days[0].day)} – ${date(days[days.length - 1].day)}`}
      </figcaption>
    </figure>
  );
}
