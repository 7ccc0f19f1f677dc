namespace AotMilter.Filters.Mime;

/// <summary>The limit of <see cref="MimeLimits"/> a message went beyond, at which the parser stopped.</summary>
public enum MimeLimit
{
    /// <summary>The whole message was parsed.</summary>
    None,

    /// <summary>More parts than <see cref="MimeLimits.MaxParts"/>.</summary>
    Parts,

    /// <summary>A part's header block had more fields than <see cref="MimeLimits.MaxHeaderFields"/>.</summary>
    HeaderFields,

    /// <summary>A part's header block was larger than <see cref="MimeLimits.MaxHeaderBytes"/>.</summary>
    HeaderBytes,
}
