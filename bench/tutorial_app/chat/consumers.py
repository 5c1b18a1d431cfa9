# The seed tutorial's chat/consumers.py (ChatConsumer), kept as written for comparison, bugs included.
# Nothing changed but formatting (ruff): its logic, names and frames are the tutorial's.
# chat/consumers.py

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import User  # noqa: F401 (unused in the tutorial too)

from .models import Mensaje, Sala


class ChatConsumer(AsyncWebsocketConsumer):
    """
    Consumer que maneja las conexiones WebSocket para el chat.

    Este consumer maneja todo el ciclo de vida de una conexión WebSocket:
    conexión, recepción de mensajes, desconexión, y broadcast a otros usuarios.
    """

    async def connect(self):
        """
        Se ejecuta cuando un cliente intenta establecer una conexión WebSocket.

        Aquí decidimos si aceptar o rechazar la conexión, y configuramos
        la infraestructura necesaria para esta sesión.
        """
        # Extraemos el nombre de la sala de la URL
        self.nombre_sala = self.scope["url_route"]["kwargs"]["nombre_sala"]

        # Creamos un nombre de grupo único para esta sala
        # Los grupos son la forma en que Channels permite broadcast
        self.grupo_sala = f"chat_{self.nombre_sala}"

        # Obtenemos el usuario de la sesión
        # AuthMiddlewareStack hace que esto esté disponible
        self.user = self.scope["user"]

        # Verificamos si el usuario está autenticado
        if not self.user.is_authenticated:
            # Rechazamos la conexión si no está autenticado
            await self.close()
            return

        # Verificamos que la sala existe
        sala_existe = await self.verificar_sala_existe()
        if not sala_existe:
            await self.close()
            return

        # Unimos este consumer al grupo de la sala
        # Esto significa que ahora recibiremos todos los mensajes
        # enviados a este grupo
        await self.channel_layer.group_add(
            self.grupo_sala,
            self.channel_name,  # Identificador único de esta conexión
        )

        # Aceptamos la conexión WebSocket
        await self.accept()

        # Añadimos al usuario a la lista de usuarios en línea
        await self.agregar_usuario_online()

        # Notificamos a todos en la sala que este usuario se conectó
        await self.channel_layer.group_send(
            self.grupo_sala,
            {
                "type": "usuario_unido",
                "username": self.user.username,
            },
        )

        # Enviamos el historial de mensajes al usuario que se conecta
        await self.enviar_historial_mensajes()

    async def disconnect(self, close_code):
        """
        Se ejecuta cuando el cliente cierra la conexión WebSocket.

        Es crítico limpiar los recursos aquí para evitar memory leaks.
        """
        # Removemos este consumer del grupo de la sala
        if hasattr(self, "grupo_sala"):
            await self.channel_layer.group_discard(self.grupo_sala, self.channel_name)

            # Removemos al usuario de la lista de usuarios en línea
            await self.remover_usuario_online()

            # Notificamos a todos que este usuario se desconectó
            if hasattr(self, "user") and self.user.is_authenticated:
                await self.channel_layer.group_send(
                    self.grupo_sala,
                    {
                        "type": "usuario_salio",
                        "username": self.user.username,
                    },
                )

    async def receive(self, text_data):
        """
        Se ejecuta cuando recibimos un mensaje del cliente.

        Este es el handler principal para todos los mensajes entrantes.
        """
        try:
            # Parseamos el JSON recibido
            data = json.loads(text_data)
            tipo_mensaje = data.get("type", "mensaje")

            # Manejamos diferentes tipos de mensajes
            if tipo_mensaje == "mensaje":
                await self.manejar_mensaje_chat(data)
            elif tipo_mensaje == "escribiendo":
                await self.manejar_escribiendo(data)
            elif tipo_mensaje == "dejar_escribir":
                await self.manejar_dejar_escribir(data)
            else:
                # Tipo de mensaje desconocido
                await self.send(text_data=json.dumps({"error": "Tipo de mensaje desconocido"}))

        except json.JSONDecodeError:
            # El cliente envió JSON inválido
            await self.send(text_data=json.dumps({"error": "JSON inválido"}))

    async def manejar_mensaje_chat(self, data):
        """
        Maneja un mensaje de chat normal.

        Guarda el mensaje en la base de datos y lo broadcast a todos
        los usuarios en la sala.
        """
        contenido = data.get("mensaje", "").strip()

        if not contenido:
            return

        # Guardamos el mensaje en la base de datos
        mensaje = await self.guardar_mensaje(contenido)

        # Broadcast el mensaje a todos en el grupo
        await self.channel_layer.group_send(
            self.grupo_sala,
            {
                "type": "mensaje_chat",
                "mensaje": mensaje.to_dict(),
            },
        )

    async def manejar_escribiendo(self, data):
        """
        Maneja el evento cuando un usuario está escribiendo.

        Esto permite mostrar "Usuario está escribiendo..." a otros usuarios.
        """
        await self.channel_layer.group_send(
            self.grupo_sala,
            {
                "type": "usuario_escribiendo",
                "username": self.user.username,
            },
        )

    async def manejar_dejar_escribir(self, data):
        """
        Maneja cuando un usuario deja de escribir.
        """
        await self.channel_layer.group_send(
            self.grupo_sala,
            {
                "type": "usuario_dejo_escribir",
                "username": self.user.username,
            },
        )

    # Los siguientes métodos son handlers que responden a mensajes
    # enviados a través de channel_layer.group_send
    # El nombre del método debe coincidir con el 'type' del mensaje

    async def mensaje_chat(self, event):
        """
        Handler para mensajes de chat.
        Envía el mensaje al WebSocket del cliente.
        """
        await self.send(
            text_data=json.dumps(
                {
                    "type": "mensaje",
                    "mensaje": event["mensaje"],
                }
            )
        )

    async def usuario_unido(self, event):
        """
        Handler para cuando un usuario se une a la sala.
        """
        await self.send(
            text_data=json.dumps(
                {
                    "type": "usuario_unido",
                    "username": event["username"],
                }
            )
        )

    async def usuario_salio(self, event):
        """
        Handler para cuando un usuario sale de la sala.
        """
        await self.send(
            text_data=json.dumps(
                {
                    "type": "usuario_salio",
                    "username": event["username"],
                }
            )
        )

    async def usuario_escribiendo(self, event):
        """
        Handler para el evento de escritura.
        No enviamos este evento de vuelta al usuario que está escribiendo.
        """
        if event["username"] != self.user.username:
            await self.send(
                text_data=json.dumps(
                    {
                        "type": "escribiendo",
                        "username": event["username"],
                    }
                )
            )

    async def usuario_dejo_escribir(self, event):
        """
        Handler para cuando un usuario deja de escribir.
        """
        if event["username"] != self.user.username:
            await self.send(
                text_data=json.dumps(
                    {
                        "type": "dejar_escribir",
                        "username": event["username"],
                    }
                )
            )

    # Métodos de base de datos
    # Usamos @database_sync_to_async para llamar código Django ORM
    # desde código asíncrono

    @database_sync_to_async
    def verificar_sala_existe(self):
        """
        Verifica si la sala existe en la base de datos.
        """
        return Sala.objects.filter(nombre=self.nombre_sala).exists()

    @database_sync_to_async
    def guardar_mensaje(self, contenido):
        """
        Guarda un mensaje en la base de datos.
        """
        sala = Sala.objects.get(nombre=self.nombre_sala)
        mensaje = Mensaje.objects.create(sala=sala, autor=self.user, contenido=contenido)
        return mensaje

    async def enviar_historial_mensajes(self):
        """
        Envía los últimos 50 mensajes de la sala al usuario que se conecta.
        """
        mensajes = await self.obtener_mensajes_recientes()

        await self.send(
            text_data=json.dumps(
                {
                    "type": "historial",
                    "mensajes": mensajes,
                }
            )
        )

    @database_sync_to_async
    def obtener_mensajes_recientes(self):
        """
        Obtiene los últimos 50 mensajes de la sala.
        """
        sala = Sala.objects.get(nombre=self.nombre_sala)
        mensajes = sala.mensajes.select_related("autor").order_by("-enviado_en")[:50]
        # Invertimos para que estén en orden cronológico
        mensajes = reversed(mensajes)
        return [mensaje.to_dict() for mensaje in mensajes]

    @database_sync_to_async
    def agregar_usuario_online(self):
        """
        Marca al usuario como en línea en esta sala.
        Esto podría usar Redis para tracking en tiempo real.
        """
        # Implementación simplificada
        # En producción, usarías Redis sets para esto
        pass

    @database_sync_to_async
    def remover_usuario_online(self):
        """
        Remueve al usuario de la lista de usuarios en línea.
        """
        pass
