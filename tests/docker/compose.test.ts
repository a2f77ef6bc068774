// Docker cannot run here, so the compose file and Dockerfile are kept correct by construction:
// every build target exists, every command is a real `qat` command, every environment is a valid
// configuration, and every file the Dockerfile copies is in the repository.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { parseConfig } from '../../src/config/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(`${ROOT}/${p}`, 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

function dockerfileTargets(path: string): string[] {
  return [...read(path).matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]!);
}

function cliCommands(): string[] {
  return buildProgram().commands.map((c) => c.name());
}

describe('docker-compose.yml', () => {
  it('has postgres, redis, api and worker, each with a health check', () => {
    for (const name of ['postgres', 'redis', 'api', 'worker']) {
      expect(services[name], name).toBeDefined();
      expect(services[name]!.healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(0);
    }
  });

  it('runs Redis with persistence on and noeviction, as BullMQ requires', () => {
    const cmd = services.redis!.command!.join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
  });

  it.each(Object.keys(services).filter((s) => services[s]!.build))('%s: build target and command exist', (name) => {
    const svc = services[name]!;
    const dockerfile = `${svc.build!.context === '.' ? '' : `${svc.build!.context}/`}${svc.build!.dockerfile}`;
    expect(existsSync(`${ROOT}/${dockerfile}`)).toBe(true);
    expect(dockerfileTargets(dockerfile)).toContain(svc.build!.target);
    expect(svc.command!.slice(0, 2)).toEqual(['node', 'bin/qat.js']);
    expect(cliCommands()).toContain(svc.command![2]);
  });

  it.each(['migrate', 'api', 'worker'])('%s: environment is a valid configuration pointing at the compose services', (name) => {
    const env = services[name]!.environment!;
    const result = parseConfig(env);
    expect(result.ok ? [] : result.problems).toEqual([]);
    expect(new URL(env.DATABASE_URL!).hostname).toBe('postgres');
    expect(new URL(env.REDIS_URL!).hostname).toBe('redis');
  });

  it('starts api and worker only after migrations succeeded and Redis is healthy', () => {
    for (const name of ['api', 'worker']) {
      expect(services[name]!.depends_on).toMatchObject({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(services.migrate!.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
  });

  it('health checks call real commands', () => {
    expect(services.worker!.healthcheck!.test.slice(1, 4)).toEqual(['node', 'bin/qat.js', 'worker']);
    expect(buildProgram().commands.find((c) => c.name() === 'worker')!.options.map((o) => o.long)).toContain('--healthcheck');
    expect(services.api!.healthcheck!.test.join(' ')).toMatch(/\/readyz/);
  });
});

describe('docker/Dockerfile', () => {
  it('has api and worker targets whose CMD is a qat command', () => {
    const text = read('docker/Dockerfile');
    expect(dockerfileTargets('docker/Dockerfile')).toEqual(expect.arrayContaining(['api', 'worker']));
    const cmds = [...text.matchAll(/^CMD \["node", "bin\/qat\.js", "(\w+)"\]/gm)].map((m) => m[1]!);
    expect(cmds.sort()).toEqual(['serve', 'worker']);
    for (const c of cmds) expect(cliCommands()).toContain(c);
  });

  it('copies only files that exist in the repository', () => {
    const sources = [...read('docker/Dockerfile').matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(existsSync(`${ROOT}/${s}`), s).toBe(true);
  });

  it('npm scripts the build stage runs exist', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const m of read('docker/Dockerfile').matchAll(/npm run (\S+)/g)) expect(scripts[m[1]!], m[1]).toBeDefined();
  });
});
