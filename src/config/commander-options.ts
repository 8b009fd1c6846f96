import { Option, type Command } from 'commander';
import type { AnyOptionSpec } from './option-spec.js';

/**
 * Declares spec options on a commander command, each taking its raw text
 * (values are parsed later, with the environment, by resolveOptions).
 */
export function declareOptions(command: Command, specs: readonly AnyOptionSpec[]): Command {
  for (const spec of specs) {
    if (spec.kind === 'flag') command.addOption(new Option(`--${spec.flag}`, `${spec.help} (env ${spec.env}=1)`));
    else command.addOption(new Option(`--${spec.flag} <${spec.valueName ?? spec.kind}>`, `${spec.help} (default ${spec.default === '' ? 'none' : spec.default}, env ${spec.env})`));
  }
  return command;
}

/** The raw flag values commander collected for these specs, by flag name; a flag option given reads `true`. */
export function readOptionValues(command: Command, specs: readonly AnyOptionSpec[]): Record<string, string | undefined> {
  const values = command.opts<Record<string, unknown>>();
  const byFlag: Record<string, string | undefined> = {};
  for (const spec of specs) {
    const value = values[camelCase(spec.flag)];
    byFlag[spec.flag] = value === true ? 'true' : (value as string | undefined);
  }
  return byFlag;
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
