import type { EdgeCell, SystemInfo } from '../../src/dashboard/dashboard-snapshot.js';

/**
 * Source systems down, sink systems across, as the server registered them;
 * each cell the config's flows on that edge and the jobs running it now.
 */
export function EdgeMatrix({ systems, edges }: { systems: readonly SystemInfo[]; edges: readonly EdgeCell[] }) {
  const letters = systems.map((s) => s.letter);
  const titles = new Map(systems.map((s) => [s.letter, s.title]));
  // A refused edge joins two stores: the way between them is through one of the streams.
  const via = `via ${systems
    .filter((s) => s.holds === 'stream')
    .map((s) => s.letter)
    .join(' or ')}`;
  const cell = (from: string, to: string) => edges.find((e) => e.from === from && e.to === to);
  return (
    <table class="matrix" aria-label="edge matrix: source systems in rows, sink systems in columns">
      <thead>
        <tr>
          <th class="corner" scope="col">
            from \ to
          </th>
          {letters.map((l) => (
            <th scope="col" key={l} title={titles.get(l)}>
              {l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {letters.map((from) => (
          <tr key={from}>
            <th scope="row" title={titles.get(from)}>
              {from}
            </th>
            {letters.map((to) => {
              const edge = cell(from, to);
              if (edge === undefined) return <td key={to} />;
              if (!edge.allowed) {
                return (
                  <td key={to} class="edge refused" title={edge.reason} data-edge={edge.name}>
                    <span class="edge-name">{edge.name}</span>
                    <span class="edge-note">{via}</span>
                  </td>
                );
              }
              const classes = ['edge', edge.active > 0 ? 'running' : '', edge.flows.length > 0 ? 'used' : ''];
              return (
                <td key={to} class={classes.join(' ').trim()} data-edge={edge.name}>
                  <span class="edge-name">
                    {edge.name}
                    {edge.active > 0 && (
                      <span class="pulse" title={`${edge.active} job${edge.active === 1 ? '' : 's'} running`}>
                        {edge.active}
                      </span>
                    )}
                  </span>
                  {edge.flows.map((f) => (
                    <span class="chip" key={f}>
                      {f}
                    </span>
                  ))}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
