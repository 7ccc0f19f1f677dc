namespace AotMilter;

/// <summary>
/// Emitted by the generator into every assembly that contains filters. It names the generated class whose static
/// <c>Registrations</c> property lists them, so the executable's generator can link every referenced filter
/// assembly without reflection. Not for hand-written code.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class MilterCatalogAttribute : Attribute
{
    public MilterCatalogAttribute(Type catalog) => Catalog = catalog;

    public Type Catalog { get; }
}
