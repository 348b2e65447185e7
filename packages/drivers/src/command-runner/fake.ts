import { CommandError, type CommandResult, type CommandRunner, type DaemonHandle, type RunOptions } from "@vpncp/core";

export const DRIVER_NAME = "fake";

export interface RecordedCommand {
  readonly file: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

export type FakeResponder = (file: string, args: readonly string[], input: string | undefined) => Partial<CommandResult> | undefined;

/** Records every command and answers from responders; for unit tests of drivers' command lines. */
export class FakeCommandRunner implements CommandRunner {
  readonly netns: string | null;
  readonly commands: RecordedCommand[] = [];
  readonly #responders: FakeResponder[] = [];
  #nextPid = 10_000;

  constructor(options: { netns?: string | null } = {}) {
    this.netns = options.netns ?? null;
  }

  /** Answers commands the responder returns a result for (first match wins). */
  respond(responder: FakeResponder): this {
    this.#responders.push(responder);
    return this;
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.commands.push({ file, args: [...args], input: options.input });
    let answer: Partial<CommandResult> | undefined;
    for (const responder of this.#responders) {
      answer = responder(file, args, options.input);
      if (answer) break;
    }
    const result: CommandResult = { stdout: answer?.stdout ?? "", stderr: answer?.stderr ?? "", exitCode: answer?.exitCode ?? 0 };
    if (result.exitCode !== 0 && !options.allowFailure) throw new CommandError(file, args, result.exitCode, result.stderr);
    return result;
  }

  spawn(file: string, args: readonly string[]): DaemonHandle {
    this.commands.push({ file, args: [...args], input: undefined });
    let resolveExit: (code: number | string) => void = () => {};
    const exited = new Promise<number | string>((resolve) => {
      resolveExit = resolve;
    });
    return {
      pid: this.#nextPid++,
      exited,
      async stop() {
        resolveExit("SIGTERM");
        await exited;
      },
    };
  }
}

export default function createFakeCommandRunner(options?: { netns?: string | null }): FakeCommandRunner {
  return new FakeCommandRunner(options);
}
