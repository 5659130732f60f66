import type { CommandResult } from '../output.js';

export interface CommandArgs {
  positionals: string[];
  values: Record<string, string | undefined>;
  flags: Record<string, boolean | undefined>;
}

export type Command = (args: CommandArgs) => Promise<CommandResult>;
