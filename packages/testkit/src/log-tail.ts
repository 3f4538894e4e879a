/** Keeps the last `limit` lines of a stream, for error messages when a process fails. */
export class LogTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly limit = 40) {}

  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.limit) this.lines.shift();
    }
  }

  text(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.limit).join('\n');
  }

  clear(): void {
    this.lines.length = 0;
    this.partial = '';
  }
}
