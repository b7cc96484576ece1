// Test helpers: a fake server answering the client's fetches (and recording
// them), and rendering a page as a signed-in account.
import { configure, render } from "@testing-library/react";
import type { ReactNode } from "react";
import { vi } from "vitest";
import type { Me } from "./api/client";
import { SessionContext } from "./session";

// Pages wait for several answers in a row; a loaded machine needs more than the default second.
configure({ asyncUtilTimeout: 5000 });

export interface Call {
  method: string;
  /** The path with escapes undone (acme%2Fapp reads acme/app). */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface Answer {
  status?: number;
  body?: unknown;
}

/** Answers every fetch with `answer(call)` (404 problem when it has none); returns the calls made. */
export function mockApi(answer: (call: Call) => Answer | undefined): Call[] {
  const calls: Call[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const request = input as Request;
    const url = new URL(request.url);
    const text = await request.text();
    const call = { method: request.method, path: decodeURIComponent(url.pathname), query: url.searchParams, body: text ? JSON.parse(text) : undefined };
    calls.push(call);
    const { status = 200, body } = answer(call) ?? problem(404, `no answer for ${call.method} ${call.path}`);
    const type = status >= 400 ? "application/problem+json" : "application/json";
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": type } });
  });
  return calls;
}

export const page = <T,>(items: T[], next_cursor: string | null = null) => ({ body: { items, next_cursor } });

export const problem = (status: number, detail: string): Answer => ({
  status,
  body: { type: "about:blank", title: status === 400 ? "Bad Request" : "Error", status, detail },
});

/** The fields of a license without usage caps that has not been pulled this month. */
export const uncapped = { max_pulls_per_month: null, max_bytes_per_month: null, usage: { month: "2026-12", pulls: 0, bytes: 0 } };

export const admin: Me = { id: "u-admin", email: "admin@vendor.example", role: "admin", customer_id: null };

export function renderAs(me: Me, ui: ReactNode) {
  return render(<SessionContext.Provider value={me}>{ui}</SessionContext.Provider>);
}
