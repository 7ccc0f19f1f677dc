namespace AotMilter.Server;

/// <summary>A delegate posted to an <see cref="EventLoop"/>; for rare work (shutdown, cuts), not the message path.</summary>
internal sealed class LoopAction(Action action) : ILoopWork
{
    public void Execute() => action();
}
