// One phase of the chat API load benchmark: N connections POST questions to
// /api/chat in JSON mode for D seconds, then one line of JSON with the
// figures. Usage: node load.mjs BASE_URL cached|uncached SECONDS CONNECTIONS
import autocannon from 'autocannon';

const [base, mode, seconds = '60', connections = '64'] = process.argv.slice(2);
if (!base || !['cached', 'uncached'].includes(mode)) {
  console.error('usage: node load.mjs BASE_URL cached|uncached [SECONDS] [CONNECTIONS]');
  process.exit(2);
}

// Questions a marketer asks every day, across the model's tables: spend and
// installs (campaign facts), revenue and payers (events), retention (cohorts)
// and a breakdown with a chart.
const questions = [
  'How much did we spend last week?',
  'How many installs did we get yesterday?',
  'What was total revenue in Q3?',
  'How many payers did we have in the last 30 days?',
  "What's our cost per install over the last 7 days?",
  'top iOS campaigns by ROAS last month',
  'installs by network last week, excluding organic',
  'What was D1 retention for last week\'s installs?',
];

let next = 0;
const body = () =>
  JSON.stringify({ question: questions[next++ % questions.length], no_cache: mode === 'uncached' });

const result = await autocannon({
  url: new URL('api/chat', base).toString(),
  connections: Number(connections),
  duration: Number(seconds),
  // An uncached answer waits behind 63 others on two cores: allow for it.
  timeout: 300,
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
});

console.log(
  JSON.stringify({
    mode,
    connections: Number(connections),
    seconds: Number(seconds),
    answered: result['2xx'],
    requests_per_s: Number((result['2xx'] / Number(seconds)).toFixed(2)),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non_2xx: result.non2xx,
  }),
);
