namespace AotMilter.Configuration;

/// <summary>
/// The settings of a configurable filter. A filter whose public constructor takes one parameter of a type that
/// implements this interface gets its settings from the configuration file: the generated code calls
/// <see cref="Parse"/> when the file is (re)loaded, and passes the result to every new filter instance. Settings
/// objects must be immutable: one object serves every connection that started while it was current.
/// </summary>
public interface IFilterSettings<TSelf>
    where TSelf : class, IFilterSettings<TSelf>
{
    /// <summary>
    /// Reads the filter's section. Report every problem with <see cref="ConfigSection.Error(ConfigEntry, string)"/>
    /// (the file is then rejected as a whole) and return the best settings possible; an empty section means defaults.
    /// </summary>
    static abstract TSelf Parse(ConfigSection section);
}
