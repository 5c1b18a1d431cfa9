# The seed tutorial's chat/models.py, kept as written for comparison, bugs included.
# chat/models.py

from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone


class Sala(models.Model):
    """
    Una sala de chat donde múltiples usuarios pueden conversar.
    """

    nombre = models.CharField(max_length=100, unique=True)
    descripcion = models.TextField(blank=True)
    creador = models.ForeignKey(User, on_delete=models.CASCADE, related_name="salas_creadas")
    creada_en = models.DateTimeField(auto_now_add=True)
    miembros = models.ManyToManyField(User, related_name="salas", blank=True)

    class Meta:
        ordering = ["-creada_en"]

    def __str__(self):
        return self.nombre

    def usuarios_conectados(self):
        """
        Retorna el número de usuarios actualmente conectados a esta sala.
        Esto lo calcularemos usando Redis en el consumer.
        """
        # Este método será útil más adelante
        pass


class Mensaje(models.Model):
    """
    Un mensaje enviado en una sala de chat.
    """

    sala = models.ForeignKey(Sala, on_delete=models.CASCADE, related_name="mensajes")
    autor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mensajes")
    contenido = models.TextField()
    enviado_en = models.DateTimeField(default=timezone.now)
    editado = models.BooleanField(default=False)
    editado_en = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["enviado_en"]

    def __str__(self):
        return f"{self.autor.username}: {self.contenido[:50]}"

    def to_dict(self):
        """
        Convierte el mensaje a un diccionario para enviarlo por WebSocket.
        Este método es muy útil para serializar datos.
        """
        return {
            "id": self.id,
            "autor": self.autor.username,
            "autor_id": self.autor.id,
            "contenido": self.contenido,
            "enviado_en": self.enviado_en.isoformat(),
            "editado": self.editado,
        }
