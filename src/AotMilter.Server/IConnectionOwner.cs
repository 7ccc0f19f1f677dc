namespace AotMilter.Server;

/// <summary>Whoever started a connection and wants to know when it is gone.</summary>
internal interface IConnectionOwner
{
    /// <summary>
    /// The connection is closed. When <see cref="MilterConnection.IsAbandoned"/>, a callback it gave up on still holds
    /// its session; <see cref="AbandonedCallbackReturned"/> follows when that callback returns.
    /// </summary>
    void ConnectionClosed(MilterConnection connection);

    /// <summary>A callback abandoned at its deadline has returned at last, and what its session held is given back.</summary>
    void AbandonedCallbackReturned(MilterConnection connection);
}
