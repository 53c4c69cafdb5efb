export default `-- A progress report from a step behind the one already reported (an earlier hop's report that arrived after a
-- later hop's) stays in the history, marked late, so that streams can leave it out of the progress they show.
ALTER TABLE envelope_updates ADD COLUMN IF NOT EXISTS late boolean NOT NULL DEFAULT false;
`;
