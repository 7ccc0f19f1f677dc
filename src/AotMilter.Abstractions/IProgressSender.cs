namespace AotMilter;

/// <summary>Sends a progress frame to the MTA immediately, so its timeout restarts during a long end of message.</summary>
public interface IProgressSender
{
    void SendProgress();
}
